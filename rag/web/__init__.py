"""The web server: the app and its routes, the desk behind them, sessions, the guard, the page."""
