"""Operations: the process runner, logging and the worker heartbeat."""
