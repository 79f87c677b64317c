"""Staff console: queues of crisis escalations, handoffs and leads, transcripts, content."""
