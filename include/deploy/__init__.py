"""The deploy pipeline: promotion on shadow evidence, freeze windows, health check, rollback."""
