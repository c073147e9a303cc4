"""Articles in: paths and URLs to articles, cleaned, chunked and stored."""
