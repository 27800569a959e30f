"""Permission profiles (R1-R4): who is asking, their profiles, settings and configuration."""
