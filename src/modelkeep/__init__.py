"""modelkeep: version AI models end to end."""
