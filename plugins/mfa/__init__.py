"""Plugin mfa: TOTP second factor with backup codes."""

from app.plugin import Plugin

plugin = Plugin(name="mfa", description="TOTP second factor with backup codes")
