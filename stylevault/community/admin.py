from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from stylevault.community import services
from stylevault.community.models import Comment, Follow
from stylevault.core import errors
from stylevault.core.admin import ReadOnlyAdmin


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Moderation: comments are removed through the service, so image counters stay exact."""

    list_display = ("created_at", "author", "image", "body")
    search_fields = ("body", "author__username")
    list_select_related = ("author", "image")
    actions = ["delete_comments"]

    @admin.action(description=_("Delete the selected comments"))
    def delete_comments(self, request, queryset):
        for comment in queryset:
            try:
                services.delete_comment(user=request.user, comment_id=comment.pk)
            except errors.DomainError as exc:
                self.message_user(request, f"{comment.pk}: {exc.message}", messages.ERROR)


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "follower", "artist")
    search_fields = ("follower__username", "artist__username")
    list_select_related = ("follower", "artist")
