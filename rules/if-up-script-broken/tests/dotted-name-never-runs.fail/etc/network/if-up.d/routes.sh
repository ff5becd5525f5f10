#!/bin/sh
[ "$IFACE" = eth0 ] || exit 0
ip route add 198.51.100.0/24 via 192.0.2.254 dev eth0
