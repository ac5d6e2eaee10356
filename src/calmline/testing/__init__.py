"""Scripted stand-ins for models and devices, shipped so tests of pure logic need no hardware."""
