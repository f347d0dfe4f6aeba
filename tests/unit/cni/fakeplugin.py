"""A recording CNI plugin for the client tests (a fake beside the real-plugin tests).

Installed into a temporary bin dir under several names; the one named ``old``
supports versions up to 1.0.0 only.  Every call appends
one JSON line (command, env, stdin) to $FAKE_LOG.  Its behaviour comes from its
own config: ``fail`` (a command to fail with
``code``), ``sleep`` (seconds before replying), ``resultVersion`` (answer ADD
in another version than asked), ``ip`` (an address to add to the result).
"""

import json
import os
import sys
import time

command = os.environ.get("CNI_COMMAND", "")
stdin = sys.stdin.read()
conf = json.loads(stdin) if stdin.strip() else {}
with open(os.environ["FAKE_LOG"], "a") as log:
    cni = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
    log.write(json.dumps({"plugin": os.path.basename(sys.argv[0]), "command": command,
                          "env": cni, "conf": conf}) + "\n")
if command == "VERSION":
    versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    if os.path.basename(sys.argv[0]) == "old":
        versions.pop()
    print(json.dumps({"cniVersion": "1.1.0", "supportedVersions": versions}))
    sys.exit(0)
time.sleep(conf.get("sleep", 0))
if conf.get("fail") == command:
    print(json.dumps({"cniVersion": conf["cniVersion"], "code": conf.get("code", 7),
                      "msg": "fake failure", "details": f"{command} refused"}))
    sys.exit(1)
if command == "ADD":
    version = conf.get("resultVersion", conf["cniVersion"])
    result = dict(conf.get("prevResult") or {})
    result["cniVersion"] = version
    if conf.get("ip"):
        ip = {"address": conf["ip"], "gateway": conf["ip"].split("/")[0][:-1] + "1"}
        if version < "1.0.0":
            ip["version"] = "4"
        result["ips"] = [*result.get("ips", []), ip]
    print(json.dumps(result))
