-- The WebUser of locustfile.py as a scripted user, for the interop test
-- of a Lua worker under a Locust master (scripted.json).
local WebUser = apex.user{wait_time = apex.constant(0.05)}

WebUser:task("health", 3, function(self)
  self:get("/health")
end)

WebUser:task("list_tasks", 1, function(self)
  self:get("/api/v1/tasks", {params = {limit = 5}, name = "/api/v1/tasks"})
end)

return WebUser
