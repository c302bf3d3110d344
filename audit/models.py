"""The hash chain's own records (issue #17): the global chain head, the hourly RFC 3161 anchors of
it, the entries purged with a never-sent draft, and the results of verification runs.

The chained entries themselves are the history rows (`homeportal.history.HistoryEntry`): each
carries `chain_seq`, `prev_hash` and `hash`; see audit/chain.py and docs/history.md."""

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class ChainHead(models.Model):
    """One row (id=1): how many entries the global chain has and its running hash. Appends update
    it inside their transaction (the UPDATE's row lock serialises them)."""

    seq = models.BigIntegerField(_("Entries"), default=0)
    head = models.CharField(_("Chain head"), max_length=64, default=GENESIS)
    updated_at = models.DateTimeField(_("Updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("chain head")
        verbose_name_plural = _("chain head")

    def __str__(self):
        return f"{self.seq} {self.head[:16]}"


class Anchor(models.Model):
    """The global head at `seq`, time-stamped by the TSA: the token's message imprint is
    sha256(`audit.chain.anchor_message(seq, head)`)."""

    seq = models.BigIntegerField(_("Entries"))
    head = models.CharField(_("Chain head"), max_length=64)
    token = models.BinaryField(_("Time-stamp token (RFC 3161)"))
    tsa_time = models.DateTimeField(_("Time-stamp (TSA)"))
    created_at = models.DateTimeField(_("Created"), auto_now_add=True)

    class Meta:
        verbose_name = _("anchor")
        verbose_name_plural = _("anchors")
        ordering = ["-seq", "-pk"]

    def __str__(self):
        return f"{self.seq} @ {self.tsa_time:%Y-%m-%d %H:%M}"


class PurgedEntry(models.Model):
    """A chained entry removed with the never-sent draft it belonged to: its link stays, so the
    global chain still verifies; verification reports it as deleted if the object still exists."""

    chain_seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    source = models.CharField(max_length=100)  # the history model's label
    entry_id = models.BigIntegerField()
    object_key = models.CharField(max_length=200)
    reason = models.CharField(max_length=100)
    purged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("purged entry")
        verbose_name_plural = _("purged entries")

    def __str__(self):
        return f"{self.chain_seq} {self.object_key}"


class Verification(models.Model):
    """One run of `history_verify` over the whole chain (what /healthz and admin report)."""

    started_at = models.DateTimeField(_("Started"))
    finished_at = models.DateTimeField(_("Finished"))
    intact = models.BooleanField(_("Chain intact"))
    entries = models.BigIntegerField(_("Entries"), default=0)
    anchors = models.IntegerField(_("Anchors"), default=0)
    problems = models.JSONField(_("Problems"), default=list, blank=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-finished_at", "-pk"]
        permissions = [("export_history", "Can export the history log")]

    def __str__(self):
        return f"{self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.intact else 'broken'}"
