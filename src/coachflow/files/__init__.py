"""The files layer: turns bytes into definitions and calendars (the only YAML reader),
loads definition sets and plugins, and writes diagrams and iCalendar. Never imports
``runtime``, ``store`` or ``engine``."""
