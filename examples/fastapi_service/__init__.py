"""A FastAPI service with a sassi pool in its lifespan (see app.py)."""
