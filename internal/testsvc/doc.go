// Package testsvc connects tests to the real services Hexproof uses:
// PostgreSQL (a fresh schema per test, dropped afterwards) and an MQTT broker
// (Mosquitto). When a service is unreachable the test is skipped, unless
// HEXPROOF_REQUIRE_SERVICES=1 (set by CI), where it fails instead.
//
// Environment:
//
//	HEXPROOF_TEST_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	HEXPROOF_TEST_MQTT_URL      default tcp://127.0.0.1:1883
//	HEXPROOF_REQUIRE_SERVICES   1 to turn a missing service into a failure
package testsvc
