"""OpenAPI 3.1 description of the BPMS Simbase API as the mock implements it (served at
/api/openapi.json; the prose is docs/bpms-api.md)."""

_document = {
    "type": "object", "required": ["name", "content_type", "data_b64"],
    "properties": {"name": {"type": "string"}, "content_type": {"type": "string"}, "data_b64": {"type": "string", "contentEncoding": "base64"}},
}
_event = {
    "type": "object",
    "required": ["seq", "case_seq", "case_id", "case_kind", "external_id", "status", "occurred_at", "payload", "documents"],
    "properties": {
        "seq": {"type": "integer", "description": "global, strictly increasing, never reused"},
        "case_seq": {"type": "integer", "description": "1, 2, 3… per case"},
        "case_id": {"type": "string", "description": "BPMS case id, e.g. SB-2026-000001"},
        "case_kind": {"type": "string", "enum": ["appeal", "application"]},
        "external_id": {"type": "string", "description": "the portal's public id of the case"},
        "status": {"type": "string", "description": "the portal domain's status code"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object", "description": "registration_number, registered_at, deadline, category; executor_name, executor_number; notes; reason; ds_number; final"},
        "documents": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
    },
}
_message = {
    "type": "object", "required": ["case_kind", "external_id", "kind", "payload"],
    "properties": {
        "case_kind": {"type": "string"}, "external_id": {"type": "string"},
        "kind": {"type": "string", "description": "submit (creates the case), resubmit, signed_ds, …"},
        "payload": {"type": "object", "description": "free form; documents as payload.documents[] (Document)"},
    },
}
_answer = {
    "type": "object",
    "properties": {"case_id": {"type": "string"}, "message_id": {"type": "integer"}, "duplicate": {"type": "boolean"},
                   "created": {"type": "boolean"}, "applied": {"type": "boolean"}},
}
_err = {"description": "error", "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "BPMS Simbase (homeportal mock)", "version": "1.0",
             "description": "Cases from the KZhK legal-entity cabinet and their status events. See docs/bpms-api.md."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Document": _document, "Event": _event, "Message": _message, "MessageAnswer": _answer},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/messages": {"post": {
            "summary": "Accept a message about a case (submit creates the case); idempotent by key",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}},
            "responses": {
                "201": {"description": "accepted now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageAnswer"}}}},
                "200": {"description": "a repeat of an accepted key: the first answer, duplicate=true",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageAnswer"}}}},
                "400": _err, "401": _err, "404": _err, "500": _err,
            },
        }},
        "/api/events": {"get": {
            "summary": "The status event feed after a sequence number, in seq order",
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "integer", "default": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 500, "maximum": 1000}},
            ],
            "responses": {"200": {"description": "events", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                                                 "last_seq": {"type": "integer"}}}}}}, "401": _err},
        }},
        "/api/cases/{case_id}": {"get": {
            "summary": "One case with its events",
            "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "case"}, "404": _err},
        }},
        "/admin/faults": {
            "get": {"summary": "Current fault switches and the /api call counter", "responses": {"200": {"description": "switches"}}},
            "post": {"summary": "Set fault switches: fail_500, delay_before, delay_after, drop_every, webhook_enabled, webhook_repeat, webhook_reverse, reset",
                     "responses": {"200": {"description": "switches"}}},
        },
        "/admin/actions": {"post": {"summary": "Operator action on a case: {case_id | case_kind+external_id, action, notes?, executor?}",
                                    "responses": {"200": {"description": "the emitted event"}, "409": _err}}},
        "/admin/emit": {"post": {"summary": "Append raw events {events:[{case_kind, external_id, status, payload?}]} (bench/tests)",
                                 "responses": {"200": {"description": "seqs"}}}},
        "/admin/autopilot": {"post": {"summary": "{enabled, pace}", "responses": {"200": {"description": "state"}}}},
        "/admin/reset": {"post": {"summary": "Forget everything (tests)", "responses": {"200": {"description": "ok"}}}},
        "/admin/stats": {"get": {"summary": "Counts", "responses": {"200": {"description": "counts"}}}},
    },
    "webhooks": {"statusEvent": {"post": {
        "summary": "POST {events:[Event]} to the portal; header X-BPMS-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}}}},
        "responses": {"200": {"description": "results per event"}},
    }}},
}
