"""prseed's project commands (``COMMANDS_MODULE``)."""
