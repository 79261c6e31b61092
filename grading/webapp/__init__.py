"""The judges' web app: login, the flag queue with keyboard decisions, double-blind essay scoring, the admin
pages. ``create_app(store, layout)`` (``app.py``) builds it from one router per feature; ``omr review`` serves it
with uvicorn.
"""
