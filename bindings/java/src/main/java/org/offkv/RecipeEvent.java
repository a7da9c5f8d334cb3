package org.offkv;

import java.util.List;

/**
 * What a recipe listener is told (offkv_recipe_event). LEADER / NOT_LEADER: {@code member}
 * is this contender's own node; DETECTED: the leader's node or null for "no leader";
 * MEMBERS: {@code members} is the whole membership by sequence. {@code error} says why
 * for losses (ECONNLOSS, ESESSION, ECLOSED, ENOENT, OK = withdrawn).
 */
public record RecipeEvent(EventType type, Member member, String group, List<Member> members,
    SessionState sessionState, ErrorCode error, String message) {}
