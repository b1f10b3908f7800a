"""What our code reports about itself: metrics through the SDK runtime's meter and OpenTelemetry spans."""
