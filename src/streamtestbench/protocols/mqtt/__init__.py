"""MQTT 3.1.1 and 5 for load: a codec and client session that do no I/O, under a thin asyncio adapter."""

from .client import MqttConnectError, MqttConnection, MqttHandler, open_mqtt
from .codec import MQTT_5, MQTT_311, MqttDecoder, MqttProtocolError, PacketType, Prop, Publish, Will
from .session import ClientSession, PublishEncoder, SessionConfig, connack_error, reason_error

__all__ = [
    "MQTT_5",
    "MQTT_311",
    "ClientSession",
    "MqttConnectError",
    "MqttConnection",
    "MqttDecoder",
    "MqttHandler",
    "MqttProtocolError",
    "PacketType",
    "Prop",
    "Publish",
    "PublishEncoder",
    "SessionConfig",
    "Will",
    "connack_error",
    "open_mqtt",
    "reason_error",
]
