from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_health_and_readiness(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True


def test_readiness_fails_when_the_broker_is_unreachable(client, settings):
    settings.STYLEVAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["broker"] is False


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "stylevault_http_requests_total" in response.content.decode()
