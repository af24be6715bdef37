"""Database plumbing: types, declarative base, engines, sessions and dialect differences."""
