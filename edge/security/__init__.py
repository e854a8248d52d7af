"""Broker security: ACL text, device/console credentials and a test CA.

`acl` is pure (text in, text out); `credentials` and `ca` do the file and subprocess
work; `cli` is the `seatwatch provision` command group. The broker configuration they
serve is deploy/mosquitto/seatwatch.conf; docs/security.md explains the model.
"""
