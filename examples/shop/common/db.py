from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Shared by both apps; each table belongs to the app whose models define it."""
