"""The judges' web app (issue 6, first slice): login, the flag queue with keyboard decisions, an admin summary.

``create_app(store, layout)`` builds the FastAPI application; ``omr review`` serves it with uvicorn.
"""
