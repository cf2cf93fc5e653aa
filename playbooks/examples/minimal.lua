return { name = "minimal", tasks = { { name = "noop", run = function(v) end } } }
