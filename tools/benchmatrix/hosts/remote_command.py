"""Run a load command on an SSH host: `python -m benchmatrix.hosts.remote_command
--map LOCAL=REMOTE... --pids FILE -- SSH-ARGV... -- COMMAND...`.

It is a prefix, like taskset: the load code builds its command as for this machine and
puts this in front. Paths of files copied there and of local tools are rewritten to
their remote names, the command is quoted for the remote shell, and ssh is exec'ed in
place, so the harness's bounded run and process-group stop apply to it unchanged. The
remote shell writes its pid to FILE and then execs the command, so the run can stop
exactly what it started there (hosts/ssh.py).
"""

import argparse
import os
import shlex
import sys


def remote_command(command, mapping, pids_file):
    rewritten = []
    for word in command:
        for local, remote in mapping.items():  # absolute paths: a substring match is that path
            word = word.replace(local, remote)
        rewritten.append(word)
    return "echo $$ >> {} && exec {}".format(shlex.quote(pids_file), " ".join(shlex.quote(w) for w in rewritten))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="remote_command")
    parser.add_argument("--map", action="append", default=[], metavar="LOCAL=REMOTE")
    parser.add_argument("--pids", required=True)
    options = parser.parse_args(argv[:split])
    rest = argv[split + 1:]
    if "--" not in rest:
        parser.error("give the ssh command, --, then the command to run there")
    ssh = rest[:rest.index("--")]
    command = rest[rest.index("--") + 1:]
    mapping = dict(item.split("=", 1) for item in options.map)
    os.execvp(ssh[0], ssh + ["--", remote_command(command, mapping, options.pids)])


if __name__ == "__main__":
    main()
