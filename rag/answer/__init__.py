"""Answers: the question's shape, the extractive and LLM answerers, conversations and follow-ups."""
