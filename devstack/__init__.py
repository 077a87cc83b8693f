"""The local system: emulators, a local API Gateway, a local scheduler, seeding and the demo."""
