"""Notifications to holders: the in-app inbox (站内消息) and Web Push."""
