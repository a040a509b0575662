package testsvc

import mqtt "github.com/eclipse/paho.mqtt.golang"

type (
	mqttClient  = mqtt.Client
	mqttMessage = mqtt.Message
)
