"""Copy writers: the built-in template writer and any OpenAI-compatible chat-completions
endpoint, behind one interface (copy.Writer)."""
