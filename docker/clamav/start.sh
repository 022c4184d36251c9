#!/bin/sh
# First signatures, then freshclam in the background to keep them current, then clamd.
set -eu

# clamd will not start without signatures; the first download can take minutes. They are kept
# in a volume, so a restart reuses them.
until freshclam --stdout; do
    echo "freshclam could not fetch the signatures; trying again in 60 seconds"
    sleep 60
done

# Twelve checks a day, as ClamAV's mirrors ask; it tells clamd to reload after an update.
freshclam --daemon --checks=12 --stdout

exec clamd --foreground --config-file=/etc/clamav/clamd.conf
