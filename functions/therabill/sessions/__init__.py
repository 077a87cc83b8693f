"""Sessions: booking and the lifecycle booked → checked_in → completed / no_show / cancelled."""
