"""The nightly run: decisions in models.py (pure), the run's items in store/, each concern in its
own module behind the ``NightlyService`` facade (service.py)."""
