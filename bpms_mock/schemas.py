"""The mock's request and answer models: FastAPI validates with them and generates the OpenAPI
document from them (docs/bpms-openapi.json). The event's keys are the contract's
(`bpms_bridge.contract.EVENT_FIELDS`; a test checks they agree)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Error(BaseModel):
    error: str


class Document(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    content_type: str
    data_b64: str = Field(json_schema_extra={"contentEncoding": "base64"})
    kind: str | None = Field(None, description="e.g. avr: a document to be signed by the parties")
    title: str | None = None


class Event(BaseModel):
    seq: int = Field(description="global, strictly increasing, never reused")
    case_seq: int = Field(description="1, 2, 3… per case")
    case_id: str = Field(description="BPMS case id, e.g. SB-2026-000001")
    case_kind: str = Field(description="appeal, application, …")
    external_id: str = Field(description="the portal's public id of the case")
    status: str = Field(description="the portal domain's status code")
    occurred_at: str = Field(json_schema_extra={"format": "date-time"})
    payload: dict[str, Any] = Field(description="registration_number, registered_at, deadline, category; executor_name, "
                                                "executor_number; notes; reason; ds_number; final")
    documents: list[Document]


class Feed(BaseModel):
    events: list[Event]
    last_seq: int = Field(description="the newest seq BPMS has")


class Message(BaseModel):
    case_kind: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="submit (creates the case), resubmit, signed_ds, …")
    payload: dict[str, Any] = Field(description="free form; documents as payload.documents[] (Document)")


class MessageAnswer(BaseModel):
    case_id: str
    message_id: int
    duplicate: bool
    created: bool
    applied: bool


class Case(BaseModel):
    case_id: str
    case_kind: str
    external_id: str
    status: str
    received_at: str
    registration_number: str
    registered_at: str
    deadline: str
    executor: str
    executor_number: str
    case_seq: int
    finished: bool
    autopilot: bool
    events: list[Event]


class Faults(BaseModel):
    """Fault switches; only the keys given change (`reset` first restores the defaults)."""

    model_config = ConfigDict(extra="forbid")

    fail_500: bool | None = None
    delay_before: float | None = Field(None, ge=0, le=600)
    delay_after: float | None = Field(None, ge=0, le=600)
    drop_every: int | None = Field(None, ge=0)
    webhook_enabled: bool | None = None
    webhook_repeat: bool | None = None
    webhook_reverse: bool | None = None
    reset: bool | None = None


class Action(BaseModel):
    case_id: str | None = None
    case_kind: str | None = None
    external_id: str | None = None
    action: str
    notes: str | None = None
    executor: str | None = None


class RawEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    case_kind: str
    external_id: str
    status: str
    payload: dict[str, Any] | None = None
    documents: list[Document] | None = None
    final: bool | None = None


class Emit(BaseModel):
    events: list[RawEvent]


class Autopilot(BaseModel):
    enabled: bool | None = None
    pace: float | None = Field(None, gt=0, le=3600)
