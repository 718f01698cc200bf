"""The edit language: typed operations, how they are written in a query string or JSON, and
the registry that maps a parameter name to its operation for a media kind."""
