---@meta remedy
-- LuaLS definitions for remedy playbooks. Generated from the modules the
-- remedy binary registers: regenerate with `remedy doc --luals > lua/types/remedy.lua`
-- (or `go test ./lua -run TestLuaLS -update`); do not edit by hand.
-- Point your editor at it: add lua/types to "workspace.library" in .luarc.json.

---@class remedy.Task
---@field name string
---@field run fun(v: table<string, any>): any
---@field tags? string|string[]
---@field when? fun(v: table<string, any>): boolean
---@field notify? string|string[] handler names to run once at the end when this task changed something
---@field check_mode? boolean force check mode on (true) or off (false) for this task
---@field ignore_errors? boolean a failure is reported but the host's run goes on
---@field register? string later tasks find {status, changed, failed, skipped, msg, result} in v[register]
---@field timeout? number seconds

---@class remedy.Check
---@field name string
---@field run fun(v: table<string, any>): string?
---@field severity? "info"|"low"|"medium"|"high"|"critical"
---@field tags? string|string[]
---@field when? fun(v: table<string, any>): boolean
---@field timeout? number seconds

---@class remedy.Handler
---@field name string
---@field run fun(v: table<string, any>): any
---@field timeout? number seconds

---@class remedy.Playbook
---@field name? string
---@field hosts? string
---@field vars? table<string, any>
---@field var_types? table<string, string> the shape of each variable that becomes a command argument, checked before any host is contacted: "bool", "port", "domain", "host", "path" or "service", with "?" when unset is allowed
---@field prefetch? fun(v: table<string, any>): (string|string[])[] reads to take with the facts: module names and commands
---@field tasks? remedy.Task[]
---@field checks? remedy.Check[]
---@field handlers? remedy.Handler[]

--- The outcome of a command.
---@class remedy.CmdResult
---@field rc integer exit status
---@field stdout string
---@field stderr string
---@field skipped boolean cmd.run did not run it because of creates or removes

--- A path's metadata.
---@class remedy.Stat
---@field type string "file", "directory", "link" or "other"
---@field mode string octal, e.g. "0644"
---@field owner string user name
---@field group string group name
---@field size integer bytes

--- What a write did, or would do in check mode.
---@class remedy.FileChange
---@field changed boolean
---@field diff string unified diff of the content, empty when only mode or owner changed
---@field backup string? the backup's path

--- The fate of a probe packet.
---@class remedy.FirewallVerdict
---@field verdict "accept"|"drop"|"reject"|"forward"|"unknown" forward: destination NAT sends it to another host
---@field chain string the deciding chain, "inet filter input"
---@field rule string the deciding rule; "" when the chain's policy decides
---@field reason string why, including each assumption the verdict rests on and what an unknown verdict depends on
---@field src string the probe's source address; "" when unknown
---@field dst string the probe's destination address; "" when unknown (out, to anywhere)
---@field iface string the interface it arrives on (in) or leaves by (out); "" when unknown
---@field explain string when not accepted, firewalld: the zone and what it lets in; ufw: its defaults and rules for the port

--- What a firewall change did, or would do in check mode.
---@class remedy.FirewallChange
---@field changed boolean
---@field commands string[] the commands run, or that would run
---@field before string the verdict that made the change necessary

--- The host's packet filter.
---@class remedy.FirewallRules
---@field backend string Facts.Firewall
---@field why string Facts.FirewallWhy
---@field chains {table: string, name: string, hook: string, priority: integer, policy: string, rules: string[]}[]

--- Facts gathered in one round trip, with the playbook's prefetch, before the first task.
---@class remedy.Facts
---@field os_id string ID= in /etc/os-release, e.g. "debian"
---@field os_version string VERSION_ID= in /etc/os-release
---@field os_family string "debian", "redhat", "suse", ...
---@field init string "systemd", "sysv" or "none"
---@field sshd_version string e.g. "OpenSSH_9.2p1"
---@field firewall string "firewalld", "ufw", "nftables", "iptables-legacy", "iptables-nft" or "none"; "unknown" when remedy cannot read the firewall (firewall_why says why)
---@field firewall_why string why that firewall governs when several are present
---@field selinux string "enforcing", "permissive" or "disabled"
---@field ssh_socket boolean sshd is socket-activated by ssh.socket
---@field root boolean the connection user is uid 0
---@field user string the connection user

--- The outcome of net.reach.
---@class remedy.Reach
---@field ok boolean connected (TCP) or got a reply (UDP)
---@field via string the tool used: "bash", "nc", "curl", or "none" when none exists
---@field err string what went wrong, when not ok

--- What sshd listens on.
---@class remedy.SSHPorts
---@field configured integer[] ports of the sockets the configuration asks for
---@field listening remedy.SSHListener[] sockets held by sshd (or by systemd for ssh.socket)

--- A listening socket.
---@class remedy.SSHListener
---@field addr string "0.0.0.0", "::", "*" for dual-stack
---@field port integer
---@field process string the owning process's name
---@field pid integer

--- What move_port did, or would do in check mode.
---@class remedy.SSHMove
---@field changed boolean
---@field from integer[] the ports before
---@field ports integer[] the ports after
---@field inventory string the inventory change to make, e.g. "ansible_port=33001"; "" when unchanged

--- Fails the task or check, at this line, when cond is false or nil. In a check, the message becomes the finding.
---@param cond any the condition that must hold
---@param fmt? string message format (string.format) when cond is false or nil
---@param ... any format arguments
---@return any cond cond, when it holds
function expect(cond, fmt, ...) end

--- Fails the task or check with msg, at this line.
---@param msg string why
function fail(msg) end

--- Writes a line to the run's log, prefixed with the host name. print does the same.
---@param ... any values, joined with tabs like print
function log(...) end

--- Renders a template, with Ansible's meaning for the filters it knows. A placeholder with no value is an error unless default gives one, never an empty string; a filter it does not know is an error that names it. Lists count from 1, as in Lua ({{ groups.web.1 }}).
---@param str string text with {{ name }}, {{ a.b }} or {{ a["b"] }} placeholders, each with any of the filters default (d), join, lower, upper, int and bool: {{ port | default(22) }}
---@param vars? table values; the task's v when omitted
---@return string text str with every placeholder replaced
function template(str, vars) end

--- Runs commands on the host. A command is a list of arguments, never a
--- shell string: each argument is quoted, so values from inventories and -e
--- cannot inject shell code. Use {"sh", "-c", script} when you need a shell.
cmd = {}

--- Runs a read-only command, in check mode too, and never counts as a change. Fails the task on an exit status not in ok_rc.
---@param argv string[] the command and its arguments, e.g. {"sshd", "-T"}
---@param opts? {ok_rc?: integer[], stdin?: string} ok_rc: exit statuses that are not a failure (default {0}); stdin: input
---@return remedy.CmdResult res
function cmd.query(argv, opts) end

--- Runs a command that changes the host, and counts as a change. In check mode it is only reported. Fails the task on an exit status not in ok_rc.
---@param argv string[] the command and its arguments
---@param opts? {creates?: string, removes?: string, ok_rc?: integer[], stdin?: string} creates: skip when this path exists; removes: skip unless it exists
---@return remedy.CmdResult res in check mode rc is 0 and the output empty, as nothing ran
function cmd.run(argv, opts) end

--- Reads and writes files on the host. Writes are atomic (a new file in a
--- private directory beside the target, then a rename), keep a backup unless
--- backup = false, run validate on the candidate before it replaces the file,
--- and keep the file's mode, owner and SELinux label unless told otherwise.
--- A symbolic link is written through: the file it points to changes and the
--- link stays. Writes refuse a link to nothing, to a directory or in a loop,
--- and a link owned by a user other than root and the one remedy writes as
--- (another user may have planted it); there is no switch to follow those:
--- write the path the link points to. In check mode writes report the
--- unified diff and the steps, and change nothing.
file = {}

--- Returns a file's content. Runs in check mode too.
---@param path string
---@return string? content nil when the file does not exist
function file.read(path) end

--- The command file.read runs for path, for a playbook's prefetch list: prefetched, the first file.read of path, and a missing file, take no session of their own.
---@param path string
---@return string[] argv
function file.read_command(path) end

--- Returns a path's type, mode, owner and size, without following a symbolic link. Runs in check mode too.
---@param path string
---@return remedy.Stat? st nil when the path does not exist
function file.stat(path) end

--- Makes a file hold exactly content, with mode and owner. Changed only when something differs.
---@param opts {path: string, content: string, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]} mode is octal text like "0644"; owner is "user" or "user:group"; validate is a command with %s for the candidate, e.g. "sshd -t -f %s" (split on spaces, never run by a shell)
---@return remedy.FileChange res
function file.write(opts) end

--- Makes sure a line is present (replacing the FIRST line regexp matches, else
--- inserting after the last line matching insertafter, before the first
--- matching insertbefore, or at the end) or absent (removing every matching
--- line). Written like file.write; create = true allows a missing file.
---@param opts {path: string, line?: string, regexp?: string, state?: "present"|"absent", insertafter?: string, insertbefore?: string, create?: boolean, mode?: string, owner?: string, backup?: boolean, validate?: string|string[]} regexp is a Go (RE2) regular expression
---@return remedy.FileChange res
function file.line(opts) end

--- Reads the host firewall (nftables, iptables legacy or nft, firewalld, ufw),
--- says whether a packet would pass and which rule decides, and opens flows
--- with the narrowest change through the tool that governs (Facts.Firewall).
--- Every rule it adds carries a comment starting "remedy:". A change on the
--- input path is made under a timed revert armed on the host, disarmed only
--- after a fresh SSH connection succeeds.
firewall = {}

--- Returns the backend that governs, why, and every base and regular chain with its rules.
---@return remedy.FirewallRules rs
function firewall.rules() end

--- Evaluates the probe as the kernel would: every base chain of the hooks it crosses, in priority order, with the rest of the first packet worked out from the host's own routes and addresses (a first SYN, a plain IP header, pkttype host), each assumption named in the reason. "unknown" when a rule the model cannot read could decide.
---@param probe {dir: "in"|"out", proto: string, port: integer, src?: string, dst?: string, iface?: string, sport?: integer} a new connection's first packet: src defaults, in, to the controller's address as the host sees it ("any": from anywhere, the rules that test it followed both ways); dst, out, to anywhere; iface (arriving in, leaving out) to the one the host's route to the peer uses; the host's address to that interface's; sport to an ephemeral port
---@return remedy.FirewallVerdict v
function firewall.verdict(probe) end

--- The read firewall.verdict takes for the host's route to a peer other than the controller, without running it: list it in a playbook's prefetch.
---@param addr string a peer's IP address
---@return string[] argv the command
function firewall.route_read(addr) end

--- Makes the flow pass now and after a reboot: nothing when it already does, else an accept rule before each rule or policy that stops it, and the same rule in the file boot loads (only remedy's rule: the live ruleset is never dumped there). Refuses before changing anything when a reboot would not keep the change (no unit loads the rules, or it is disabled). Fails when the flow still does not pass afterwards.
---@param flow {dir: "in"|"out", proto: "tcp"|"udp", port?: integer, range?: string, src?: string, dst?: string, comment?: string, persist?: boolean} port or range ("33001-33010"); src limits an inbound flow, dst an outbound one; persist = true enables the unit that loads the rules at boot when it is disabled
---@return remedy.FirewallChange res
function firewall.allow(flow) end

--- Removes the rules remedy added under a comment, live and from the file boot loads. A comment matching an allow_domain's ("remedy: DOMAIN") undoes it whole: its refresh job (timer, service, script, cron entry or loop) stopped and deleted, its rules and DNS rules, its sets, ipsets and firewalld policy.
---@param opts {comment: string, persist?: boolean} removes every rule whose comment is this or goes on after it with a space: whole words ("remedy: aspera" takes "remedy: aspera FASP", not "remedy: asperax"); what allow_domain made under such a comment goes too
---@return remedy.FirewallChange res
function firewall.remove(opts) end

--- Lets the host reach a domain whose addresses change: sets of its addresses a rule accepts, DNS let out if blocked, and a job re-resolving it. The sets and rules go into the file boot loads too (only remedy's: the live ruleset is never dumped there; at boot the sets start empty until the job fills them); it refuses before changing anything when a reboot would not keep them. After a change, checks that it resolves, the set holds it and a connection succeeds.
---@param opts {domain: string, proto?: "tcp"|"udp", port?: integer, dir?: "out", refresh?: integer} proto tcp and port 443 by default; refresh in seconds, default the record's TTL (60-3600) or 300
---@return remedy.FirewallChange res
function firewall.allow_domain(opts) end

--- The reads allow_domain takes for a domain (its addresses, its TTL, the files its refresh job may write), without running them: list them in a playbook's prefetch.
---@param domain string
---@return string[][] reads commands
function firewall.domain_reads(domain) end

--- The host the playbook is running on.
---@class remedy.module.host
---@field name string the host's inventory name
---@field vars table<string, any> the merged variables, the same table every task receives as v
---@field facts remedy.Facts what was gathered about the host before the first task (empty at the playbook's top level and in prefetch)

---@type remedy.module.host
host = {}

--- JSON encoding and decoding. Lists are tables with keys 1..n; JSON null decodes to nil.
json = {}

--- Encodes value as JSON.
---@param value any tables, strings, numbers and booleans
---@return string json compact JSON with sorted object keys
function json.encode(value) end

--- Decodes a JSON document.
---@param json string a JSON document
---@return any value the decoded value
function json.decode(json) end

--- Network questions answered ON the host, so they see its resolver,
--- routes and egress firewall. Both run in check mode too.
net = {}

--- Resolves a name with getent ahosts (hosts file, DNS, as nsswitch.conf says).
---@param name string a host name (RFC 1123) or an IP address
---@return string[] addrs addresses in the resolver's order; empty when the name does not resolve
function net.resolve(name) end

--- Tries to reach host:port from the host: TCP connects, with bash's /dev/tcp
--- under timeout, else nc, else curl. UDP sends a datagram and waits for any
--- reply (bash /dev/udp or nc), so it needs a service that answers.
---@param opts {host: string, port: integer, proto?: "tcp"|"udp", timeout?: number} host: a host name or IP address; timeout in seconds (at most 3600), default 3
---@return remedy.Reach res
function net.reach(opts) end

--- The command net.reach runs for these options, without running it: list it
--- in a playbook's prefetch to take the probe with the facts.
---@param opts {host: string, port: integer, proto?: "tcp"|"udp", timeout?: number} as net.reach takes them
---@return string[] argv
function net.reach_command(opts) end

--- Reloads, restarts and queries services. It uses the init system
--- facts.init names: systemd (systemctl), SysV (service), or none, as in
--- containers and the lab, where reload signals the pid in the service's pid
--- file.
--- reload and restart count as changes and are only reported in check mode.
service = {}

--- Reloads a service's configuration.
---@param svc string|{name: string, pidfile?: string, signal?: string} a service name, or a table; pidfile (default /run/NAME.pid) and signal (default "HUP") are used where there is no init system
function service.reload(svc) end

--- Restarts a service. Without an init system there is no way to start a process again, so this fails: use reload.
---@param svc string|{name: string, pidfile?: string, signal?: string} a service name, or a table; pidfile (default /run/NAME.pid) and signal (default "HUP") are used where there is no init system
function service.restart(svc) end

--- Reports whether a service is enabled. Runs in check mode too.
---@param svc string|{name: string, pidfile?: string, signal?: string} a service name, or a table; pidfile (default /run/NAME.pid) and signal (default "HUP") are used where there is no init system
---@return boolean enabled starts at boot; without an init system: the pid file names a live process
function service.enabled(svc) end

--- Reads the OpenSSH server's effective configuration and ports, and moves
--- SSH to a new port without locking anyone out: the firewall is opened and
--- the new port added next to the old one first; the old port goes only after
--- the controller has logged in on the new one over a fresh connection.
sshd = {}

--- Returns the effective configuration (sshd -T). Runs in check mode too.
---@return table<string, string|string[]> cfg lower-case keys; list-valued keywords (port, listenaddress, hostkey, acceptenv, ...) as lists
function sshd.config() end

--- Returns the ports sshd is configured for and the sockets it listens on (ss). Runs in check mode too.
---@return remedy.SSHPorts ports
function sshd.ports() end

--- Moves sshd to port to: plans from the real config files (Include'd
--- drop-ins too), opens the port in the firewall now and in what boot loads
--- (refusing, before anything changes, when a reboot would not keep it
--- open), labels it for SELinux,
--- writes the old and new ports (and the ssh.socket drop-in), validates with
--- sshd -t, reloads, dials the new port from the controller, and only then
--- removes the old ports, under a timed revert on the host, and moves the
--- connection. Any failure restores the files, reloads and confirms the old
--- port answers. Check mode shows the plan: diffs, firewall and SELinux
--- steps.
---@param opts {to: integer, keep_22?: boolean, persist?: boolean} keep_22 keeps the current ports next to the new one; persist as firewall.allow's
---@return remedy.SSHMove res
function sshd.move_port(opts) end

