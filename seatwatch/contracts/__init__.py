"""The contracts the edge and the console share: events, MQTT topics and payloads, and
the MQTT session both connect with. They import nothing from either side, so the console
never imports the edge daemon's package and the edge never imports the console.
"""
