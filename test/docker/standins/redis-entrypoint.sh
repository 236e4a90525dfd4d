#!/bin/sh
# The official Redis image serves other containers without a password (its
# build turns protected mode off); Debian's binary started without a config file
# keeps it on and refuses them, so say it here, before the compose file's flags.
set -e
if [ "$1" = "redis-server" ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
