#!/bin/sh
# Run by `meson install`: create the newsfeed system user and reload systemd
# when installing onto this machine (not into a DESTDIR staging tree).
[ -n "$DESTDIR" ] && exit 0
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers "$MESON_INSTALL_PREFIX/lib/sysusers.d/newsfeed.conf" || true
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
