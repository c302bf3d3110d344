"""The one shape of a history row («История заявки») for every domain: appeals, guarantee
applications (their decision documents write into the application's history) and later
subsidy applications.

Rows are append-only: written once by the domain's services (the workflow writes the status
rows), never changed afterwards — `save()` of an existing row, `delete()`, and the querysets'
`update()`/`delete()` raise, and in PostgreSQL a trigger refuses UPDATE and DELETE (audit
migration 0001). Every row is appended to the history hash chain as it is inserted (issue #17,
audit/chain.py): `chain_seq` (its place in the global chain), `prev_hash` (the previous row of
the same object) and `hash` = sha256 over `prev_hash` and `canonical_content()` — the row's
content, object, actor and signature in one deterministic byte form (`chain_content`);
`document_sha256` lets the chain cover the document without reading storage again.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from homeportal.choices import ChoiceLabels

# What history rows store as the actor when KZhK (a moderator, the BPMS) acted: the row keeps
# the Russian name as written; `actor_display` shows it in the reader's language.
KZHK_ACTOR = "АО «КЖК»"
KZHK_BPMS_ACTOR = "АО «КЖК» (BPMS)"
ACTOR_LABELS = {KZHK_ACTOR: _("JSC «KZhK»"), KZHK_BPMS_ACTOR: _("JSC «KZhK» (BPMS)")}


class HistoryImmutable(Exception):
    """An attempt to change or delete history rows (they are evidence: append a new row)."""


class HistoryQuerySet(models.QuerySet):
    """History rows are appended (one by one through `save()`, or `bulk_create`, both chained),
    never updated; deleted only by `audit.chain.purge()` with a never-sent draft."""

    def update(self, **kwargs):
        raise HistoryImmutable("history entries are append-only")

    def delete(self):
        from audit import chain

        if not chain.purging():
            raise HistoryImmutable("history entries are deleted only by audit.chain.purge()")
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        from django.db import transaction

        from audit import chain

        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            chain.append_many(objs, using=self.db)
            return super().bulk_create(objs, *args, **kwargs)

    def bulk_append(self, objs) -> list:
        """`bulk_create` for a batch's rows (chained the same way), written with one COPY
        (`homeportal.db.insert_rows`: the BPMS feed appends hundreds of rows per chunk)."""
        from django.db import transaction

        from audit import chain
        from homeportal.db import insert_rows

        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            chain.append_many(objs, using=self.db)
            insert_rows(self.model, objs)
        return objs

    def bulk_update(self, *args, **kwargs):
        raise HistoryImmutable("history entries are append-only")


def _utc_iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 27 and value.endswith("Z"):  # already canonical (PostgreSQL's to_char in history_verify)
            return value
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_key(key) -> str:
    return json.loads(json.dumps({key: 0})).popitem()[0]


def _json_normal(value):
    """A JSON value in the form every database gives it back: dict keys as strings, tuples as
    lists, integral floats as the integer their shortest decimal form names (PostgreSQL's jsonb
    prints 1e16 as 10000000000000000, read back as an int), -0.0 as 0."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {(k if type(k) is str else _json_key(k)): _json_normal(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_json_normal(v) for v in value]
    if kind is float:
        if value == 0:
            return 0
        exact = decimal.Decimal(repr(value))
        if exact == exact.to_integral_value():
            return int(exact)
    return value


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_encode = _CANONICAL.encode
_encode_str = json.encoder.encode_basestring  # what _CANONICAL writes a str with (the C version, no ASCII escaping)


def _value(value) -> str:
    """One value as `_CANONICAL` writes it inside the row's object (str, int and None directly)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return _encode(value)


def _normal_float(text: str):
    """json's parse_float for payloads read back: `_json_normal` of the float, done by the parser."""
    value = float(text)
    if value == 0:
        return 0
    exact = decimal.Decimal(repr(value))
    return int(exact) if exact == exact.to_integral_value() else value


_PAYLOAD_DECODER = json.JSONDecoder(parse_float=_normal_float)


# The row's object as `_CANONICAL` writes it: its keys in sorted order, no spaces. Filled with the
# encoder's own primitives field by field — the same bytes as `_CANONICAL.encode(dict)` without
# building and sorting a dict per row (test_fast_canonical_form_is_json_dumps).
_ROW_FORM = ('{"actor":%s,"actor_name":%s,"at":%s,"comment":%s,"document":%s,"document_name":%s,'
             '"document_sha256":%s,"event":%s,"extra":%s,"from_status":%s,"object":%s,"payload":%s,'
             '"signature":%s,"status":%s}')
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
# `_CANONICAL` as a reusable C encoder without the circular-reference check (payloads parsed from
# the database cannot be circular); `_CANONICAL.encode` makes a new one per call.
_parsed_encoder = (_c_make_encoder(None, _CANONICAL.default, _encode_str, None, ":", ",", True, False, True)
                   if _c_make_encoder is not None else None)


def _encode_parsed(value) -> str:
    return "".join(_parsed_encoder(value, 0)) if _parsed_encoder is not None else _encode(value)


def chain_content_of(object_key, created_at, event, from_status, status, actor_id, actor_name, payload, comment,
                     document, document_name, document_sha256, *, signature, extra) -> bytes:
    """`chain_content` with the fields in `CHAIN_FIELDS` order."""
    return (_ROW_FORM % (
        _value(actor_id), _value(actor_name), _value(_utc_iso(created_at)), _value(comment), _value(document or ""),
        _value(document_name), _value(document_sha256), _value(event), _encode(extra) if extra else "{}",
        _value(from_status), _value(object_key), _encode(_json_normal(payload or {})),
        "null" if signature is None else _encode(signature), _value(status),
    )).encode()


def chain_content_from_db(object_key, at, event, from_status, status, actor_id, actor_name, payload_text, comment,
                          document, document_name, document_sha256, *, signature, extra) -> bytes:
    """`chain_content_of` of a row as history_verify reads it from PostgreSQL: the text columns as
    str (NOT NULL), `at` already canonical (to_char in UTC), the payload as jsonb text — parsed
    straight into its `_json_normal` form."""
    payload = _PAYLOAD_DECODER.raw_decode(payload_text)[0] if payload_text is not None else None
    return (_ROW_FORM % (
        "null" if actor_id is None else int.__repr__(actor_id), _encode_str(actor_name), _encode_str(at),
        _encode_str(comment), _encode_str(document), _encode_str(document_name), _encode_str(document_sha256),
        _encode_str(event), _encode(extra) if extra else "{}", _encode_str(from_status), _encode_str(object_key),
        _encode_parsed(payload) if payload else "{}", "null" if signature is None else _encode(signature),
        _encode_str(status),
    )).encode()


def chain_content(*, object_key: str, values: dict, signature: dict | None, extra: dict) -> bytes:
    """The canonical bytes the chain hashes for one row: UTF-8 JSON with sorted keys and no
    spaces; times as UTC with microseconds; the payload in its stored JSON form. `values` has the
    fields of `CHAIN_FIELDS`; `signature` is `signature_digest()` of the row's signature."""
    return chain_content_of(object_key, *(values[name] for name in CHAIN_FIELDS), signature=signature, extra=extra)


CHAIN_FIELDS = ("created_at", "event", "from_status", "status", "actor_id", "actor_name", "payload", "comment",
                "document", "document_name", "document_sha256")


def signature_digest(sig) -> dict | None:
    """What the chain keeps of a signing.Signature (or a dict of its values): who, with which
    certificate, over which document, when, and the sha256 of the CMS itself."""
    if sig is None:
        return None
    get = sig.get if isinstance(sig, dict) else (lambda name: getattr(sig, name))
    return {
        "id": str(get("public_id")), "iin": get("signer_iin"), "certificate_serial": get("certificate_serial"),
        "document_sha256": get("document_sha256"), "cms_sha256": hashlib.sha256(bytes(get("cms"))).hexdigest(),
        "signed_at": _utc_iso(get("signed_at")),
    }


# A signature record itself (signing.Signature) on the chain: every field it keeps as evidence (the
# CMS and the revocation evidence by their SHA-256), its object (the signed document or request it
# belongs to: `chain_object`). Not its foreign keys: the request and the organization may be deleted
# (SET_NULL) without changing what was signed.
SIGNATURE_RECORD_FIELDS = (
    "public_id", "method", "signer_name", "signer_iin", "signer_bin", "organization_name", "roles",
    "certificate_serial", "certificate_issuer", "certificate_not_after", "cms", "document_sha256", "signed_at",
    "tsa_time", "declared_time", "level", "revocation_source", "revocation_produced_at", "revocation_evidence",
)
_SIGNATURE_TIMES = ("certificate_not_after", "signed_at", "tsa_time", "declared_time", "revocation_produced_at")


def signature_record_content(*, object_key: str, values: dict) -> bytes:
    """The canonical bytes the chain hashes for a signature record (`values` has the fields of
    `SIGNATURE_RECORD_FIELDS`): the same JSON form as a history row's, under "record"."""
    record = {name: values[name] for name in SIGNATURE_RECORD_FIELDS}
    record["public_id"] = str(record["public_id"])
    for name in _SIGNATURE_TIMES:
        record[name] = _utc_iso(record[name])
    for name in ("cms", "revocation_evidence"):
        blob = record.pop(name)
        record[f"{name}_sha256"] = hashlib.sha256(bytes(blob)).hexdigest() if blob is not None else None
    record["roles"] = _json_normal(record["roles"] or [])
    return _encode({"record": "signing.signature", "object": object_key, "signature": record}).encode()


SIGNATURE_DIGEST_FIELDS = ("pk", "public_id", "signer_iin", "certificate_serial", "document_sha256", "cms", "signed_at")


def history_document_path(instance: HistoryEntry, filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"{instance.document_folder()}/history/{uuid.uuid4().hex}{ext}"


class _Returned:
    """A column the INSERT returns (the trigger sets it); migrations see the plain field."""

    db_returning = True

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, f"django.db.models.{type(self).__mro__[2].__name__}", args, kwargs


class _ReturnedBigIntegerField(_Returned, models.BigIntegerField):
    pass


class _ReturnedCharField(_Returned, models.CharField):
    pass


class HistoryEntry(ChoiceLabels, models.Model):
    """One step: when, what (event; for status steps the status it left and the one it
    entered), who (the user, if any, and the name shown), the data the step carried, a
    comment, and the document it issued or received («Скачать»)."""

    # The ForeignKey to the history's object; subclasses declare it (on_delete=PROTECT) and name it here.
    OWNER_FIELD = ""
    # Further fields of the subclass the chain covers (attribute names, e.g. "decision_document_id").
    CHAIN_EXTRA_FIELDS: tuple[str, ...] = ()

    created_at = models.DateTimeField(_("Date"), default=timezone.now)
    event = models.CharField(_("Event"), max_length=40)
    from_status = models.CharField(_("Previous status"), max_length=30, blank=True)
    status = models.CharField(_("Status"), max_length=30, blank=True)
    # PROTECT: a user who acted stays (SET_NULL would rewrite chained rows).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("User"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("Who"), max_length=500, blank=True)
    payload = models.JSONField(_("Data"), default=dict, blank=True)
    comment = models.TextField(_("Comment"), blank=True)
    document = models.FileField(_("Document"), upload_to=history_document_path, blank=True, max_length=300)
    document_name = models.CharField(_("Document name"), max_length=255, blank=True)
    document_sha256 = models.CharField(_("Document SHA-256"), max_length=64, blank=True)
    # «Signed by whom»: the signature the step records (its CMS, signer and time live in signing).
    signature = models.ForeignKey(
        "signing.Signature", verbose_name=_("Signature"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # The hash chain (audit/chain.py): set once, as the row is inserted.
    chain_seq = _ReturnedBigIntegerField(_("Place in the history chain"), null=True, blank=True, editable=False)
    prev_hash = _ReturnedCharField(_("Previous entry's hash"), max_length=64, blank=True, editable=False)
    hash = _ReturnedCharField(_("Hash"), max_length=64, blank=True, editable=False)
    # PostgreSQL: the canonical content handed to the INSERT; its trigger (audit/0005) chains the row
    # in the same statement (no round trip of its own) and stores NULL here. The chain columns come
    # back in the INSERT's RETURNING.
    chain_content = models.BinaryField(null=True, blank=True, editable=False)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise HistoryImmutable("history entries are append-only: write a new entry instead")
        from django.db import router, transaction

        from audit import chain

        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            if chain.chained_by_trigger(using):
                self.chain_content = self.canonical_content()
            else:
                chain.append(self, using=using)
            try:
                super().save(*args, **kwargs)
            finally:
                self.chain_content = None

    def delete(self, *args, **kwargs):
        raise HistoryImmutable("history entries are append-only")

    @classmethod
    def chain_owner_field(cls) -> str:
        """The field whose value names the row's chain (audit.chain looks up the chain's last row by it)."""
        return cls.OWNER_FIELD

    def chain_owner_value(self):
        return getattr(self, f"{self.OWNER_FIELD}_id")

    @classmethod
    def owner_key_field(cls) -> str:
        """The lookup of the owner's stable id: its public_id if it has one, else its pk."""
        owner_model = cls._meta.get_field(cls.OWNER_FIELD).related_model
        has_public_id = any(f.name == "public_id" for f in owner_model._meta.fields)
        return f"{cls.OWNER_FIELD}__public_id" if has_public_id else f"{cls.OWNER_FIELD}_id"

    @classmethod
    def object_key_of(cls, owner_model, owner_id) -> str:
        return f"{owner_model._meta.label_lower}:{owner_id}"

    def object_key(self) -> str:
        owner = self.owner
        return self.object_key_of(type(owner), getattr(owner, "public_id", owner.pk))

    @property
    def actor_display(self) -> str:
        """The «Who» column in the reader's language: KZhK's label through gettext, and the
        Russian names of the object's organizations replaced by their Kazakh names in Kazakh."""
        name = self.actor_name
        label = ACTOR_LABELS.get(name)
        if label is not None:
            return str(label)
        if get_language() == "kk":
            for org in (getattr(self.owner, "organization", None), getattr(self.owner, "developer", None)):
                if org is not None and org.name_kk and org.name_ru and org.name_ru in name:
                    name = name.replace(org.name_ru, org.name_kk)
        return name

    @property
    def owner(self) -> models.Model:
        return getattr(self, self.OWNER_FIELD)

    def document_folder(self) -> str:
        """Where the row's document is stored: under its object's public id."""
        owner = self.owner
        return f"{owner._meta.app_label}/{getattr(owner, 'public_id', owner.pk)}"

    def attach(self, *, name: str, path: str, content: bytes | None = None, sha256: str = "") -> None:
        """Point the (unsaved) row at a document already in storage."""
        self.document.name = path
        self.document_name = name[:255]
        self.document_sha256 = sha256 or (hashlib.sha256(content).hexdigest() if content is not None else "")

    def canonical_content(self) -> bytes:
        values = {name: getattr(self, name) for name in CHAIN_FIELDS}
        values["document"] = self.document.name or ""
        return chain_content(
            object_key=self.object_key(), values=values,
            signature=signature_digest(self.signature) if self.signature_id else None,
            extra={name: getattr(self, name) for name in self.CHAIN_EXTRA_FIELDS},
        )
