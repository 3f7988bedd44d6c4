-- scenarios/apex.lua - the Project Apex mix (scenarios/apex.json) as a
-- scripted user, plus what JSON cannot say: after it starts a DAG
-- execution it polls the execution until it finishes, and it records how
-- many polls that took and how long the run lasted as custom metrics.
-- Run it with scenarios/apex_lua.json (which names this file).
local ApexUser = apex.user{wait_time = apex.between(0.5, 2.0)}

local PASSWORD = apex.env("API_PASSWORD", "demo")

function ApexUser:on_start()
  local r = self:post("/api/v1/login", {
    json = {username = "apex-" .. self.index, password = PASSWORD}})
  apex.check("logged in", r.ok and r:json().username ~= nil)
  local dags = self:get("/api/v1/dags"):json().dags
  self.dag_ids = {}
  for i, dag in ipairs(dags) do self.dag_ids[i] = dag.id end
end

ApexUser:task("health", 5, function(self)
  local r = self:get("/health")
  apex.check("healthy", r.ok and r:json().status == "ok")
end)

ApexUser:task("list_tasks", 10, function(self)
  self:get("/api/v1/tasks", {params = {limit = 20}, name = "/api/v1/tasks"})
end)

ApexUser:task("create_and_get_task", 4, function(self)
  local r = self:post("/api/v1/tasks", {json = {
    title = "load test task " .. apex.random_string(8),
    description = "created by apex",
    priority = apex.random_int(1, 3)}})
  if r.status ~= 201 then return end
  local task = r:json()
  apex.check("task created", task.id ~= nil and task.priority >= 1)
  self:get("/api/v1/tasks/" .. task.id, {name = "/api/v1/tasks/{id}"})
end)

ApexUser:task("list_agents", 8, function(self)
  self:get("/api/v1/agents")
end)

ApexUser:task("list_dags", 6, function(self)
  self:get("/api/v1/dags")
end)

-- Start a DAG and wait for it: poll its execution every 100 ms until it
-- is no longer running (at most 50 polls).
ApexUser:task("execute_dag", 2, function(self)
  local dag = self.dag_ids[apex.random_int(1, #self.dag_ids)]
  local started = apex.now_ms()
  local r = self:post("/api/v1/dags/" .. dag .. "/execute",
                      {json = {trigger = "load-test"},
                       name = "/api/v1/dags/{id}/execute"})
  if not r.ok then return end
  local id = r:json().execution_id
  local polls, status = 0, "running"
  while status == "running" and polls < 50 do
    self:sleep(0.1)
    polls = polls + 1
    local e = self:get("/api/v1/executions/" .. id,
                       {name = "/api/v1/executions/{id}"})
    status = e.ok and e:json().status or "unknown"
  end
  apex.check("dag finished", status == "success")
  apex.trend("dag_polls", polls)
  apex.trend("dag_run_ms", apex.now_ms() - started)
  apex.counter("dag_runs")
end)

return ApexUser
