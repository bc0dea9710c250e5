"""Readiness on the production profile: each dependency checked with its own status and
time; Redis or the object store stopping makes the answer 503 naming it, and the portal
answers 200 again once it is back, without a restart. (Redis and moto here are the
profile's own, on ports of their own: the shared Redis on 6379 is never touched.)"""

import time

import requests

from tests.production.stack import HOST


def readiness(web):
    response = requests.get(web.base + "/readyz", headers={"Host": HOST}, timeout=60)
    return response.status_code, response.json()


def wait_for_readiness(web, status, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        code, body = readiness(web)
        if code == status or time.monotonic() > deadline:
            return code, body
        time.sleep(0.5)


def test_the_production_tests_are_one_group_that_xdist_keeps_on_one_worker(request):
    """They share one production stack (the session fixture of tests/production/conftest.py,
    half a minute to start): under `make test` (xdist's loadgroup) each of them must carry
    the group's name, which is how xdist hands the whole group to one worker. pytest-xdist
    3.8 names it by rewriting the node id, which pytest 9.2 no longer reads
    (pytest-dev/pytest-xdist#1386): requirements.txt keeps pytest at 9.1 until that is mended."""
    assert request.node.get_closest_marker("xdist_group").args == ("production",)
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@production"), request.node.nodeid


def test_readiness_checks_each_dependency_with_its_time(production, journey):
    code, body = readiness(production.a)
    assert code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "storage"}
    for check in body["checks"].values():
        assert check["status"] == "ok" and isinstance(check["ms"], float) and check["ms"] >= 0
    # Plain HTTP from a load balancer is answered, not redirected to HTTPS.
    assert requests.get(production.a.base + "/healthz", headers={"Host": HOST}, timeout=30).status_code == 200


def test_redis_stopping_makes_readiness_503_naming_it_and_the_portal_recovers(production, journey):
    stack = production.stack
    stack.redis.stop()
    try:
        code, body = wait_for_readiness(production.a, 503)
        assert code == 503, body
        assert body["status"] == "unavailable"
        assert set(body["failed"]) == {"cache", "broker"}, body
        assert body["checks"]["database"]["status"] == "ok" and body["checks"]["storage"]["status"] == "ok"
        assert body["checks"]["cache"]["ms"] < 10_000
    finally:
        stack.processes.remove(stack.redis)
        stack.start_redis()
    code, body = wait_for_readiness(production.a, 200)
    assert code == 200, body
    code, body = wait_for_readiness(production.b, 200)
    assert code == 200, body


def test_the_object_store_stopping_makes_readiness_503_naming_it_and_the_portal_recovers(production, journey):
    stack = production.stack
    stack.s3.stop()
    try:
        code, body = wait_for_readiness(production.a, 503)
        assert code == 503, body
        assert body["failed"] == ["storage"], body
    finally:
        stack.processes.remove(stack.s3)
        stack.start_s3()
        stack.bucket_create()  # moto keeps its objects in memory; a real store comes back with its bucket
    code, body = wait_for_readiness(production.a, 200)
    assert code == 200, body
