from django.db import models


class RateCounter(models.Model):
    """One fixed-window counter per (scope, key), updated by a single atomic UPSERT."""

    key = models.CharField(max_length=200, primary_key=True)
    slot = models.BigIntegerField()  # which fixed window the count belongs to
    count = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class ReadGeneration(models.Model):
    """How many times what a shared read cache shows has changed (stylevault.core.readcache)."""

    name = models.CharField(max_length=50, primary_key=True)
    generation = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.generation}"
