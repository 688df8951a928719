"""Actions: what the platform is told to do, delivered by signed webhooks with retries."""
