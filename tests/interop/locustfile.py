"""The Python side of the interop tests: the same user classes, by name,
as tests/interop/scenario.json, so either master can dispatch to either
kind of worker."""
from locust import HttpUser, constant, task


class WebUser(HttpUser):
    wait_time = constant(0.05)
    weight = 3

    @task(3)
    def health(self):
        self.client.get("/health")

    @task(1)
    def list_tasks(self):
        self.client.get("/api/v1/tasks?limit=5", name="/api/v1/tasks")


class AgentUser(HttpUser):
    wait_time = constant(0.05)
    weight = 1

    @task
    def agents(self):
        self.client.get("/api/v1/agents")
