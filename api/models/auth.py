"""Login and the current user."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoginCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class UserPublic(BaseModel):
    user_id: str
    display_name: str
    role: str
    role_label: str
    entity_kind: str | None = None
    entity_id: str | None = None


class ApiKeyCreate(BaseModel):
    user_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="the account the key acts as: the caller's own (another is refused)",
    )
    label: str = Field(min_length=1, max_length=200, description="which system holds it")


class ApiKeyPublic(BaseModel):
    user_id: str
    label: str
    api_key: str = Field(description="shown once; send it as the X-API-Key header")
