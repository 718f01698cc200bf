"""Importing media from a URL with yt-dlp, guarded against server-side request forgery."""
